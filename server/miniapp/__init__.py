"""The assistant's web front end (the Mini App), served as static files at /app/."""

from server.miniapp.routes import setup_miniapp

__all__ = ["setup_miniapp"]
