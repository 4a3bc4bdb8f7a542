"""The gRPC edge: servicers that check the request, call the domain and map the outcome."""
