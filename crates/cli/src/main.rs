//! The `grantbridge` command-line tool. Its commands arrive with the CLI issue.

fn main() {
    eprintln!("grantbridge: the CLI arrives with the CLI issue; see README.md");
    std::process::exit(1);
}
