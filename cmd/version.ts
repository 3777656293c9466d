import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { SOFTWARE_VERSION } from "../version.ts";

/** `version`: prints the software version that NodeInfo advertises. */
export const versionCommand: Command = {
  name: "version",
  summary: "print the version",
  usage: "Usage: deno task cli version\n\nPrints the software version advertised in NodeInfo.",
  run(args: string[]): Promise<number> {
    if (args.includes("--help") || args.includes("-h")) {
      console.log(versionCommand.usage);
      return Promise.resolve(ExitCode.ok);
    }
    console.log(SOFTWARE_VERSION);
    return Promise.resolve(ExitCode.ok);
  },
};
