"""The use cases: the only code that web pages, the API, the CLI and jobs call."""
