"""forms-service: print paper questionnaires, read the scans back, post answers anonymously."""

__version__ = "0.1.0"
