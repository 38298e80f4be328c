"""The ways a caller reaches labelwire: the gRPC port and the HTTP port
(Connect and gRPC-Web). A transport translates and calls the servicers; the
core never imports one."""
