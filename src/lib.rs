//! modlens: a lazy indexer and language server for Powerpipe / Steampipe mod workspaces.
//!
//! The modules follow the flow of data (see `ARCHITECTURE.md`): [`syntax`] scans one file's
//! bytes into a `FileIndex`; [`index`] merges them into the workspace index; [`workspace`]
//! finds the files and reads them. Imports only point downstream.

pub mod cache;
pub mod format;
pub mod generate;
pub mod index;
pub mod load;
pub mod lsp;
pub mod resolve;
pub mod syntax;
pub mod workspace;
