"""Groups of board servers on real components: Redis and HAProxy from the OS's packages."""
