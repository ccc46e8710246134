"""Strawberry types: thin, plain-attribute views of canonical models."""
