/** An error shaped like node:fs's. */
export function fsError(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: simulated ${syscall} '${path}'`), {
    code,
    syscall,
    path,
  });
}
