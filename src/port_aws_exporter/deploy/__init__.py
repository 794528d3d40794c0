"""Deployment tooling: the Lambda artifact builder and the least-privilege IAM read policy generator.

Nothing here runs inside the Lambda functions; these are workstation and CI tools. The SAM template
they serve is `deploy/template.yaml` at the root of the repository.
"""
