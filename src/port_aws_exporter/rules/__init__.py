"""EventBridge rules toolkit: patterns, InputTransformers and CloudFormation rule templates, as AWS runs them.

Pure code: it takes dicts and strings and returns data; nothing here does I/O beyond reading a
template file it is given.
"""
