"""The ways a caller reaches labelwire: the gRPC port (`grpc/`) and the HTTP port
(`http/`: Connect and gRPC-Web). A transport translates and calls the servicers; the
core never imports one. `app` builds and runs both around one core."""
