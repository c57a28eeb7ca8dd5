"""Fault-injection tests: a TCP proxy that cuts and delays connections, KILL, server restarts."""
