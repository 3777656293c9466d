/**
 * `completion bash|zsh|fish`: prints a shell completion script for `switchyard` (subcommands,
 * their aliases and flags), as cobra's `completion` command does for cometbft. The flags of each
 * subcommand are the `--flags` its usage text names, plus every config flag for the commands
 * that take them, so the script never disagrees with `--help`.
 * @module
 */
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { CONFIG_FLAG_NAMES } from "../config/mod.ts";

const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = typeof SHELLS[number];

const USAGE = `Usage: switchyard completion bash|zsh|fish

Prints a completion script for the shell. Load it with, e.g.:
  bash:  source <(switchyard completion bash)
         (or save it as /etc/bash_completion.d/switchyard)
  zsh:   source <(switchyard completion zsh)
  fish:  switchyard completion fish > ~/.config/fish/completions/switchyard.fish`;

/** A subcommand as completion sees it. */
interface Entry {
  names: string[];
  flags: string[];
}

/** The names and flags of every subcommand. */
export function completionEntries(commands: readonly Command[]): Entry[] {
  return commands.map((c) => {
    const flags = new Set(c.usage.match(/--[a-z0-9][a-z0-9._-]*/g) ?? []);
    if (c.usage.includes("Config flags")) { for (const f of CONFIG_FLAG_NAMES) flags.add(f); }
    flags.add("--help");
    return { names: [c.name, ...(c.aliases ?? [])], flags: [...flags].sort() };
  });
}

function bash(entries: Entry[]): string {
  const all = entries.flatMap((e) => e.names).join(" ");
  const cases = entries.map((e) =>
    `    ${e.names.join("|")}) COMPREPLY=( $(compgen -W "${e.flags.join(" ")}" -- "$cur") ) ;;`
  );
  return [
    "# bash completion for switchyard (switchyard completion bash)",
    "_switchyard() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" cmd="" w',
    '  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do',
    `    case " ${all} " in *" $w "*) cmd="$w"; break ;; esac`,
    "  done",
    '  if [ -z "$cmd" ]; then',
    `    COMPREPLY=( $(compgen -W "${all} --home --help" -- "$cur") )`,
    "    return",
    "  fi",
    '  case "$cur" in -*) ;; *) return ;; esac',
    '  case "$cmd" in',
    ...cases,
    "  esac",
    "}",
    "complete -o default -F _switchyard switchyard",
    "",
  ].join("\n");
}

function zsh(entries: Entry[]): string {
  return [
    "#compdef switchyard",
    "# zsh completion for switchyard (switchyard completion zsh), through bash's",
    "autoload -U +X compinit && compinit",
    "autoload -U +X bashcompinit && bashcompinit",
    bash(entries),
  ].join("\n");
}

function fish(entries: Entry[]): string {
  const all = entries.flatMap((e) => e.names);
  const out = [
    "# fish completion for switchyard (switchyard completion fish)",
    `complete -c switchyard -f -n "__fish_use_subcommand" -a "${all.join(" ")}"`,
  ];
  for (const e of entries) {
    for (const f of e.flags) {
      out.push(
        `complete -c switchyard -n "__fish_seen_subcommand_from ${e.names.join(" ")}" -l ${
          f.slice(2)
        }`,
      );
    }
  }
  return out.join("\n") + "\n";
}

/** The script for `shell`. */
export function completionScript(shell: Shell, commands: readonly Command[]): string {
  const entries = completionEntries(commands);
  return shell === "bash" ? bash(entries) : shell === "zsh" ? zsh(entries) : fish(entries);
}

/** `completion`: the command, over the CLI's command list (given lazily: it includes itself). */
export function completionCommand(commands: () => readonly Command[]): Command {
  return {
    name: "completion",
    summary: "print a shell completion script (bash, zsh or fish)",
    usage: USAGE,
    run(args: string[]): Promise<number> {
      if (args.includes("--help") || args.includes("-h")) {
        console.log(USAGE);
        return Promise.resolve(ExitCode.ok);
      }
      const shell = args[0] as Shell;
      if (args.length !== 1 || !SHELLS.includes(shell)) {
        console.error(`error: expected one shell: ${SHELLS.join(", ")} (see --help)`);
        return Promise.resolve(ExitCode.usage);
      }
      console.log(completionScript(shell, commands()));
      return Promise.resolve(ExitCode.ok);
    },
  };
}
