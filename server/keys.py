"""Typed keys for what the app holds (aiohttp AppKey)."""

from aiohttp import web
from pymongo import AsyncMongoClient

from config import Settings
from server.db.database import Database
from server.observability.metrics import Metrics
from server.services.registry import Services

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
MONGO = web.AppKey("mongo", AsyncMongoClient)
DATABASE = web.AppKey("database", Database)
METRICS = web.AppKey("metrics", Metrics)
