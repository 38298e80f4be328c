/**
 * `127.0.0.1:50051` (as the Python SDK and `labelwire serve` print it) or a
 * full `http(s)://` URL: Connect transports want the URL.
 */
export function baseUrl(address: string): string {
  if (!address) throw new TypeError("an address is required, e.g. 127.0.0.1:50051 or https://labelwire.example.com");
  return address.includes("://") ? address : `http://${address}`;
}
