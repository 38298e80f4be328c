"""The HTTP port: every labelwire service over the Connect protocol (JSON and
binary, HTTP/1.1 and HTTP/2) and gRPC-Web, through the `connectrpc` runtime,
running the same servicers and call interceptors as the gRPC port."""
