"""Ground Truth Lambda handlers for custom labelwire jobs.

Each module is self-contained (standard library and boto3 only) so it can be
zipped alone and deployed as a Lambda function's code, handler
`pre.handler` or `post.handler`. See docs/adapters/groundtruth.md.
"""
