"""One-off builders of data the service ships (run by a developer, never at run time)."""
