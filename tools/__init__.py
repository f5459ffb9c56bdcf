"""Tools around minigrad that are not part of the engine (lectures.py: the lecture runner)."""
