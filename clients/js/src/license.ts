/** The terms a key carries, as plain data: what a valid key gives the program. */

import { formatDay } from "./days.js";

/** The license document of docs/key-format.md section 4 (what `--json` and the vectors show). */
export interface LicenseJSON {
  key_id: number;
  product: number;
  serial: number;
  issued: string;
  expires: string | null;
  updates_until: string | null;
  seats: number;
  edition: number;
  flags: number;
}

/** A license as read from a key. Dates are UTC calendar days, 'YYYY-MM-DD'; null means no limit. */
export class License {
  readonly keyId: number;
  readonly product: number;
  /** 48-bit serial (exact in a double); the revocation list names it. */
  readonly serial: number;
  readonly issued: string;
  readonly expires: string | null;
  readonly updatesUntil: string | null;
  readonly seats: number;
  readonly edition: number;
  readonly flags: number;
  /** The same dates as days since 2000-01-01 (0 = none), as the key stores them. */
  readonly issuedDay: number;
  readonly expiresDay: number;
  readonly updatesUntilDay: number;

  constructor(fields: {
    keyId: number;
    product: number;
    serial: number;
    issuedDay: number;
    expiresDay: number;
    updatesUntilDay: number;
    seats: number;
    edition: number;
    flags: number;
  }) {
    this.keyId = fields.keyId;
    this.product = fields.product;
    this.serial = fields.serial;
    this.issuedDay = fields.issuedDay;
    this.expiresDay = fields.expiresDay;
    this.updatesUntilDay = fields.updatesUntilDay;
    this.issued = formatDay(fields.issuedDay);
    this.expires = fields.expiresDay === 0 ? null : formatDay(fields.expiresDay);
    this.updatesUntil = fields.updatesUntilDay === 0 ? null : formatDay(fields.updatesUntilDay);
    this.seats = fields.seats;
    this.edition = fields.edition;
    this.flags = fields.flags;
    Object.freeze(this);
  }

  get perpetual(): boolean {
    return this.expires === null;
  }

  /** The serial as support and the revocation tooling print it: 12 upper-case hex digits. */
  get serialText(): string {
    return this.serial.toString(16).toUpperCase().padStart(12, "0");
  }

  /** True when feature bit `bit` (0..15) is set. */
  hasFlag(bit: number): boolean {
    if (!Number.isInteger(bit) || bit < 0 || bit > 15) throw new RangeError("feature bits are numbered 0 to 15");
    return ((this.flags >> bit) & 1) === 1;
  }

  toJSON(): LicenseJSON {
    return {
      key_id: this.keyId,
      product: this.product,
      serial: this.serial,
      issued: this.issued,
      expires: this.expires,
      updates_until: this.updatesUntil,
      seats: this.seats,
      edition: this.edition,
      flags: this.flags,
    };
  }
}
