"""Settings package: base holds everything, local/test/production change only what differs."""
