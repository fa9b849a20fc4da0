#!/usr/bin/env bash
# Installs dbgate for the action: the released binary for this runner, checked against its
# published SHA-256, or, with no release for this platform or version, a build of the action's
# own source with `cargo install --locked`.
set -euo pipefail

version="${DBGATE_VERSION:-}"
if [ -z "$version" ] && [[ "${ACTION_REF:-}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  version="$ACTION_REF"
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
  Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-gnu ;;
  Darwin-x86_64) target=x86_64-apple-darwin ;;
  Darwin-arm64) target=aarch64-apple-darwin ;;
  *) target="" ;;
esac

dest="${RUNNER_TEMP:-/tmp}/dbgate"
mkdir -p "$dest/bin"

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

installed=""
if [ -n "$version" ] && [ -n "$target" ] && [ -n "${ACTION_REPOSITORY:-}" ]; then
  base="${GITHUB_SERVER_URL:-https://github.com}/$ACTION_REPOSITORY/releases/download/$version"
  archive="dbgate-$target.tar.gz"
  if curl -fsSL -o "$dest/$archive" "$base/$archive" && curl -fsSL -o "$dest/$archive.sha256" "$base/$archive.sha256"; then
    expected="$(cut -d' ' -f1 < "$dest/$archive.sha256")"
    actual="$(sha256 "$dest/$archive")"
    if [ "$expected" != "$actual" ]; then
      echo "::error title=dbgate install::checksum mismatch for $archive: expected $expected, got $actual"
      exit 1
    fi
    tar -xzf "$dest/$archive" -C "$dest/bin"
    installed="release $version ($target)"
  else
    echo "::notice title=dbgate install::no release $version for $target; building from source"
  fi
fi

if [ -z "$installed" ]; then
  # Building needs libclang (bindgen, for PostgreSQL's parser); GitHub's hosted runners have it.
  if ! cargo install --locked --quiet --path "${ACTION_PATH:?}" --root "$dest"; then
    echo "::error title=dbgate install::building dbgate from source failed; it needs a Rust toolchain and libclang (apt-get install libclang-dev)"
    exit 1
  fi
  installed="built from $ACTION_PATH"
fi

echo "$dest/bin" >> "${GITHUB_PATH:?}"
echo "dbgate installed: $installed"
