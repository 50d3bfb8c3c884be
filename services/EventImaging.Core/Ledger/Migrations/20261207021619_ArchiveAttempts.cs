using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace EventImaging.Core.Ledger.Migrations
{
    /// <inheritdoc />
    public partial class ArchiveAttempts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "archive_attempts",
                table: "image_requests",
                type: "integer",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "archive_attempts",
                table: "image_requests");
        }
    }
}
