/** An export file the emulator cannot read: names the file and where in it. Nothing of the import is applied. */
export class ExportFormatError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ExportFormatError';
  }
}
