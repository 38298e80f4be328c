"""Transports: how callers reach the core. `grpc/` holds the gRPC servicers,
`http/` serves the same servicers over Connect and gRPC-Web on the HTTP port;
`app` builds and runs the servers around one core."""
