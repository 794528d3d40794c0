"""Deployment tooling: the Lambda artifact builder, the least-privilege IAM read policy generator, and
the SAM template's transform into plain CloudFormation for an uploaded artifact (`sam_transform`).

Nothing here runs inside the Lambda functions; these are workstation and CI tools. The SAM template
they serve is `deploy/template.yaml` at the root of the repository.
"""
