"""A Kantata OX (Mavenlink) API v1 simulator."""
