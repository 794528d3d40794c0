"""port-aws-exporter: keeps a Port software catalog in step with AWS."""

__version__ = "0.1.0"
