"""The server: HTTP API, agent gateway, live topics and Studio, around the projects."""
