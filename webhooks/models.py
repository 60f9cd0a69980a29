"""Webhooks, the event outbox and the delivery log arrive with the webhooks issue."""
