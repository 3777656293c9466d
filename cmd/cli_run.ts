/**
 * The frame shared by the subcommands that take config flags (`init`, `show-node-id` and the RPC
 * client commands): `--help` / `-h` prints the usage, and failures map to exit codes in one place
 * (bad flag or argument → 2 with a pointer to `--help`, bad config → 2, anything unexpected → 1), with a
 * hook for the command's own errors.
 * @module
 */
import { ExitCode } from "./command.ts";
import { ConfigError, UsageError } from "../config/mod.ts";

/**
 * A command's own error mapping: prints and returns the exit code for errors it knows, or
 * returns `undefined` to leave `err` to the shared fallback.
 */
export type CliErrorHandler = (err: unknown) => number | undefined;

/**
 * The message for a bad command line: the error and where to find the flags, not the whole
 * usage (a 35-line dump hides the one line that matters).
 */
export function usageErrorText(err: UsageError, usage: string): string {
  const cmd = /^Usage: (?:deno task (?:cli )?|switchyard )?(\S+)/.exec(usage)?.[1];
  const help = cmd === undefined ? "--help" : `switchyard ${cmd} --help`;
  return `error: ${err.message}\n(run \`${help}\` for the flags)`;
}

/**
 * Runs a command body: prints `usage` and returns 0 when `args` asks for help, else awaits `body`
 * and turns what it throws into a message on stderr and an exit code. Checked in order:
 * `UsageError`, `ConfigError`, then `onError`, then any other error (1).
 */
export async function runCliCommand(
  usage: string,
  args: readonly string[],
  body: () => Promise<number>,
  onError?: CliErrorHandler,
): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    return ExitCode.ok;
  }
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(usageErrorText(err, usage));
      return ExitCode.usage;
    }
    if (err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      return ExitCode.usage;
    }
    const code = onError?.(err);
    if (code !== undefined) return code;
    console.error(`error: ${(err as Error).message}`);
    return ExitCode.failure;
  }
}
