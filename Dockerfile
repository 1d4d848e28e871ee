# The board server as a container: `docker compose up server`.
FROM python:3.11-slim
RUN pip install --no-cache-dir "uv>=0.5,<1"
WORKDIR /app
COPY pyproject.toml README.md ./
COPY protocol protocol
COPY server server
COPY client client
RUN uv sync --no-dev
EXPOSE 8765
# 0.0.0.0 inside the container; compose publishes it on the host's loopback only.
CMD ["uv", "run", "--no-dev", "pacnet", "serve", "--host", "0.0.0.0", "--log-format", "json"]
