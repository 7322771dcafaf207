/**
 * Errors a caller can fix by changing the request. `field` names the offending request field
 * so an HTTP edge can map it to a 400/422 response without parsing the message.
 */
export class InvalidAdRequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = new.target.name;
  }
}

/** An input image is missing, not decodable, of an unsupported format, or too large. */
export class InvalidImageError extends InvalidAdRequestError {}
