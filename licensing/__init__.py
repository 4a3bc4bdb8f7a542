"""The licensing service: issues Ed25519-signed license keys over gRPC and answers support."""
