"""Orchestration: the pure state machine of a project and the actor around it."""
