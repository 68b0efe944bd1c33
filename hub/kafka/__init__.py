"""Kafka plumbing: the embedded broker, topic provisioning and the durable producer."""
