/** The `--help` text of the `fastway` command, from the flag table. */
import { CONFIG_ENV, CONFIG_FLAG, PRINT_CONFIG_FLAG } from './command-line.js';
import { FLAGS } from './flags.js';

const HELP_WIDTH = 88;

/** Splits `text` into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

function helpEntry(lines: string[], head: string, description: string, ...details: string[]): void {
  lines.push(`  ${head}`);
  for (const line of wrap(description, HELP_WIDTH - 6)) lines.push(`      ${line}`);
  for (const detail of details) lines.push(`      ${detail}`);
}

/** The `--help` text. */
export function helpText(version: string): string {
  const lines = [
    `fastway ${version}: a game gateway; it carries virtual connections between game`,
    'clients and game servers.',
    '',
    'Usage: fastway [flags]',
    '',
    ...wrap(
      'Every flag can also be set with its environment variable, or in a --config file (a JSON object ' +
        'keyed by flag names). A flag on the command line wins over the variable, which wins over the file. ' +
        'Durations take ms, s, m or h (500ms, 30s, 2m); plain digits are milliseconds.',
      HELP_WIDTH,
    ),
    '',
    'Flags:',
  ];
  for (const flag of FLAGS) {
    helpEntry(lines, `--${flag.name} ${flag.placeholder}`, flag.description, `env ${flag.env}; default ${flag.defaultText}`, `accepts ${flag.acceptsText}`);
  }
  helpEntry(
    lines,
    `--${CONFIG_FLAG} <path>`,
    'Read settings from this JSON file: {"client-addr": "0.0.0.0:7000", "server-auth-key": ["old", "new"], ...}. Variables and flags override it.',
    `env ${CONFIG_ENV}`,
  );
  helpEntry(lines, `--${PRINT_CONFIG_FLAG}`, 'Print the configuration in force as JSON, with keys redacted, and exit.');
  helpEntry(lines, '-h, --help', 'Print this help and exit.');
  helpEntry(lines, '-V, --version', 'Print the version and exit.');
  lines.push('');
  lines.push(
    ...wrap(
      'Signals: SIGTERM or SIGINT drains (see --drain-timeout), then exits 0; another one more than 500ms later ' +
        'exits at once with 128 + the signal number (143 or 130). A second signal within 500ms counts as the same ' +
        'one (Ctrl-C through npm arrives twice). SIGHUP reloads the TLS certificate, key and CA files (and is only logged without TLS).',
      HELP_WIDTH,
    ),
  );
  lines.push('');
  lines.push(...wrap('Exit codes: 0 after a drain, 1 on a runtime failure (such as a port in use), 2 on a bad flag, variable or config file.', HELP_WIDTH));
  return lines.join('\n') + '\n';
}
