"""Helpers of scripts/stack.py: settings, the gateway configuration, processes."""
