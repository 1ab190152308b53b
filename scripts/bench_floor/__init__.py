"""The benchmark's floor: a bare DRF ListAPIView over the todo table (scripts/bench.py runs it beside the stack)."""
