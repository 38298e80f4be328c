"""Transports: how callers reach the core. `grpc/` holds the gRPC servicers; `app` builds and runs the servers around one core."""
