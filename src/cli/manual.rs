//! The manual page, `gputop man` (hidden; packagers install its output as gputop.1). clap_mangen
//! renders the name, synopsis, description and options from the clap definition, then a
//! section per subcommand with its own options; the sections clap knows nothing of (exit
//! status, environment, files, examples) are written here in roff, in step with
//! docs/reference.md.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_mangen::Man;

/// The whole page, in roff.
pub fn page() -> io::Result<Vec<u8>> {
    let command = super::Cli::command().disable_help_subcommand(true);
    let man = Man::new(command.clone()).manual("User Commands");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        subcommand(&mut page, sub)?;
    }
    page.write_all(SECTIONS.as_bytes())?;
    Ok(ascii(&String::from_utf8_lossy(&page)).into_bytes())
}

/// `text` with every character beyond ASCII (the help's `…`, `–`) as groff's `\[uXXXX]`:
/// groff reads its input as Latin-1 unless told, and warns of the bytes of UTF-8.
fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' '..='~' | '\n' | '\t' => out.push(c),
            _ => out.push_str(&format!("\\[u{:04X}]", c as u32)),
        }
    }
    out
}

/// `sub`'s section: "GPUTOP SERVE", holding its synopsis, description and options as
/// subsections. Built alone, so the global options (listed once, under OPTIONS) stay out.
fn subcommand(page: &mut Vec<u8>, sub: &clap::Command) -> io::Result<()> {
    let name = format!("gputop {}", sub.get_name());
    let man = Man::new(sub.clone().bin_name(&name));
    let mut text = Vec::new();
    man.render_synopsis_section(&mut text)?;
    man.render_description_section(&mut text)?;
    man.render_options_section(&mut text)?;
    writeln!(page, ".SH \"{}\"", name.to_uppercase())?;
    for line in String::from_utf8_lossy(&text).lines() {
        match line.strip_prefix(".SH ") {
            Some(heading) => writeln!(page, ".SS {heading}")?,
            None => writeln!(page, "{line}")?,
        }
    }
    Ok(())
}

/// What the clap definition does not say: exit codes (docs/reference.md, "Exit codes"), the
/// environment, the files, and examples from the README's usage table.
const SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
.B 0
Success; also when a reader such as
.BR head (1)
closes the pipe, and on Ctrl\-C, SIGTERM or SIGHUP in watch mode.
.TP
.B 1
A one\-shot output whose \fB\-\-container\fR or \fB\-\-pod\fR matches no process;
\fBselect\fR with fewer free GPUs than asked for; \fBwait \-\-timeout\fR run out;
an output file or recording that cannot be written.
.TP
.B 2
A usage error: bad flags, flags that do nothing in the mode asked for, an unknown query
field, no such GPU, a \fB\-\-config\fR file that does not exist, a malformed scenario,
an invalid \fB\-\-remote\fR URL.
.TP
.B 3
The GPU stack cannot answer (no NVML library, driver not loaded, no permission, an NVML
failure), no \fB\-\-remote\fR host answered, or a \fB\-\-prometheus\fR query failed.
.PP
Errors are one line on standard error. Three subcommands give codes of their own:
.TP
.B doctor
0 all ok, 1 warnings, 2 failures.
.TP
.B health
0 all ok, 1 warnings, 2 failures, 3 unknown: no GPU found, something could not be
examined, or a command line it cannot run.
.TP
.B wait
the exit status of CMD, which runs in gputop's place; 127 when CMD is not found, 126 when
it cannot be run, 1 when \fB\-\-timeout\fR ran out.
.SH ENVIRONMENT
.TP
.B GPUTOP_INTERVAL
Seconds between samples when \fB\-\-interval\fR is not given (0.1 to 3600).
.TP
.B GPUTOP_CONFIG
The configuration file, as \fB\-\-config\fR.
.TP
.B GPUTOP_NVML_LIB
The NVML library to load, as \fB\-\-nvml\-lib\fR.
.TP
.B GPUTOP_HOST_PROC
The host's /proc mounted in a container, as \fB\-\-host\-proc\fR.
.TP
.B GPUTOP_PROMETHEUS
The Prometheus server the monitor, \fB\-\-once\fR and \fB\-\-watch\fR read, as
\fB\-\-prometheus\fR; the subcommands still work on this machine.
.TP
.B GPUTOP_HOSTNAME
The host name to report instead of the machine's (in a Kubernetes pod: the node's name).
.TP
.B NO_COLOR
When set and not empty, no colours (the monitor's theme is mono).
.TP
.B CUDA_VISIBLE_DEVICES
\fBselect\fR and \fBwait\fR choose among these GPUs when it is set; \fBwait\fR sets it
for CMD, with CUDA_DEVICE_ORDER=PCI_BUS_ID.
.TP
.BR ROCR_VISIBLE_DEVICES ", " HIP_VISIBLE_DEVICES
The same for AMD GPUs (\fB\-\-vendor amd\fR): \fBwait\fR sets ROCR_VISIBLE_DEVICES to the
GPUs' AMD ordinals and HIP_VISIBLE_DEVICES to their positions within it.
.TP
.B ZE_AFFINITY_MASK
The same for Intel GPUs (\fB\-\-vendor intel\fR), with ZE_ENABLE_PCI_ID_DEVICE_ORDER=1.
.TP
.B XDG_CONFIG_HOME
Where the configuration file is looked for (default ~/.config).
.TP
.B XDG_STATE_HOME
Where \fBrecord\fR writes by default (default ~/.local/state).
.TP
.B SSL_CERT_FILE
The CA certificates that check https endpoints, when no CA file is given.
.SH FILES
.TP
.I $XDG_CONFIG_HOME/gputop/config.toml
The configuration file (~/.config/gputop/config.toml without XDG_CONFIG_HOME);
\fBgputop \-\-print\-config\fR prints a commented template.
.TP
.I /run/gputop/locks
The claims \fBwait\fR makes and \fBselect\fR respects: a lock file per GPU, GPU\-<uuid>.lock,
shared by all users (mode 1777); \fB\-\-lock\-dir\fR names another.
.TP
.I /tmp/gputop\-locks
The claims' directory when /run/gputop/locks does not exist.
.TP
.I $XDG_STATE_HOME/gputop/record.db
The recording \fBrecord\fR writes and \fBreport\fR reads by default
(~/.local/state/gputop/record.db without XDG_STATE_HOME).
.SH EXAMPLES
.TP
.B gputop \-\-once \-\-json
One sample as a JSON document.
.TP
.B gputop \-\-query\-gpu=index,name,memory.used \-\-format=csv,noheader,nounits
nvidia\-smi's query output, byte for byte.
.TP
.B gputop \-\-watch 5 \-\-json >> gpus.jsonl
A JSON document per sample, every 5 seconds.
.TP
.B "eval \(dq$(gputop select \-n 2 \-\-format env)\(dq"
Export CUDA_VISIBLE_DEVICES with the two best free GPUs.
.TP
.B gputop wait \-n 2 \-\-stable 30 \-\- python train.py
Wait for two GPUs free for 30 seconds, claim them and run the program on them.
.TP
.B gputop serve \-\-listen 0.0.0.0:9835 \-\-token\-file /etc/gputop/token \-\-tls\-cert /etc/gputop/cert.pem \-\-tls\-key /etc/gputop/key.pem
Serve Prometheus metrics to other machines over https, to those that send
\fBAuthorization: Bearer\fR with the token in the file (Prometheus's scrape
configuration: \fBauthorization: { credentials_file: ... }\fR). Beyond loopback,
gputop warns when the token is missing (anyone who can reach the port reads the metrics
and the process list) and when TLS is (the token would cross the network in clear text).
.TP
.B gputop \-\-remote gpu1:9835,gpu2:9835,local
The GPUs of several hosts, from their \fBgputop serve\fR.
.TP
.B gputop report \-\-since 24h
What happened on the GPUs in the last day, from the default recording.
.TP
.B gputop completions bash > /etc/bash_completion.d/gputop
Install the completions for bash.
.SH "SEE ALSO"
.BR nvidia\-smi (1)
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_has_a_section_per_subcommand_and_hides_man() {
        let page = String::from_utf8(super::page().unwrap()).unwrap();
        for name in ["DOCTOR", "SERVE", "HEALTH", "SELECT", "WAIT", "RECORD", "REPORT"] {
            assert!(page.contains(&format!(".SH \"GPUTOP {name}\"")), "{name}");
        }
        assert!(page.contains(".SH \"GPUTOP COMPLETIONS\""));
        assert!(!page.contains("GPUTOP MAN"), "man is hidden");
        assert!(page.contains(".SH \"EXIT STATUS\"") && page.contains(".SH ENVIRONMENT"));
        assert!(page.is_ascii());
    }

    #[test]
    fn characters_beyond_ascii_are_groff_escapes() {
        assert_eq!(super::ascii("a … b–c\n"), "a \\[u2026] b\\[u2013]c\n");
    }
}
