//! `migration` CLI: `DATABASE_URL=... cargo run -p migration -- up|down|status|fresh`.

#[tokio::main]
async fn main() {
    sea_orm_migration::cli::run_cli(migration::Migrator).await;
}
