using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace EventImaging.Core.Ledger.Migrations
{
    /// <inheritdoc />
    public partial class RequestHistoryAndRetention : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "request_history",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    request_id = table.Column<Guid>(type: "uuid", nullable: false),
                    at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    kind = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    detail = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_request_history", x => x.id);
                });

            // Built without blocking writes: image_requests has never been pruned before retention, and a plain CREATE
            // INDEX would hold callbacks and submissions for as long as the build takes.
            migrationBuilder.Sql(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_image_requests_finished ON image_requests (finished_at) WHERE finished_at IS NOT NULL;",
                suppressTransaction: true);

            migrationBuilder.CreateIndex(
                name: "ix_request_history_request",
                table: "request_history",
                columns: new[] { "request_id", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "request_history");

            migrationBuilder.DropIndex(
                name: "ix_image_requests_finished",
                table: "image_requests");
        }
    }
}
