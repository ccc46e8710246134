"""Kantata OX (formerly Mavenlink) API v1: the PSA role."""
