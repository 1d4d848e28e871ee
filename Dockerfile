# The board server as a container: `docker compose up` (docker-compose.yml), or
#   docker build -t pacnet . && docker run -p 8765:8765 -e PACNET_ADMIN_TOKEN=... pacnet
# tests/test_image.py does what this file does, step by step, where Docker cannot run.
FROM python:3.11-slim
RUN pip install --no-cache-dir "uv>=0.5,<1"
RUN useradd --create-home --uid 10001 pacnet && mkdir /data && chown pacnet /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pacnet pacnet
# The server's own dependencies only: no window (pygame-ce), no plot, no test tools.
RUN uv sync --no-dev --no-editable --compile-bytecode
USER pacnet
EXPOSE 8765
VOLUME /data
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/app/.venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=2)"]
# 0.0.0.0 inside the container: the host decides who reaches it (compose publishes it).
CMD ["/app/.venv/bin/pacnet", "serve", "--host", "0.0.0.0", "--log-format", "json", "--state", "/data/state.sqlite"]
