"""The engine's tables; importing this package puts them all on ``engine.db.Base.metadata``."""

from engine.models.exception import ProcessException
from engine.models.flow import FlowDefinition, FlowVersion
from engine.models.outbox import OutboxEvent
from engine.models.run import FlowRun, FlowStep
from engine.models.task import Task
from engine.models.wait import RunWait
from engine.models.webhook import WebhookDelivery, WebhookEndpoint

__all__ = [
    "FlowDefinition",
    "FlowRun",
    "FlowStep",
    "FlowVersion",
    "OutboxEvent",
    "ProcessException",
    "RunWait",
    "Task",
    "WebhookDelivery",
    "WebhookEndpoint",
]
