-- Neovim project settings: link the track crates for rust-analyzer (it looks for Cargo
-- projects only at the opened folder and one level below). See .vscode/settings.json.
-- Neovim reads this file when 'exrc' is on (`:set exrc`, then `:trust` it once); rustaceanvim
-- and neoconf.nvim read .vscode/settings.json instead and need nothing more.
local settings = {
  ['rust-analyzer'] = {
    linkedProjects = {
      'exercises/kv_store/Cargo.toml',
      'exercises/rate_limiter/Cargo.toml',
      'exercises/replication/Cargo.toml',
    },
    cargo = { targetDir = true },
  },
}
if vim.lsp.config then
  -- Neovim 0.11+: extends the `rust_analyzer` configuration (nvim-lspconfig's or your own).
  vim.lsp.config('rust_analyzer', { settings = settings })
else
  local ok, lspconfig = pcall(require, 'lspconfig')
  if ok then
    lspconfig.rust_analyzer.setup({ settings = settings })
  end
end
