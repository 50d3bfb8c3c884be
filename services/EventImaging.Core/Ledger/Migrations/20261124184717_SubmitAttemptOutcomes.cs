using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace EventImaging.Core.Ledger.Migrations
{
    /// <inheritdoc />
    public partial class SubmitAttemptOutcomes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "attempt_in_flight",
                table: "image_requests",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<int>(
                name: "unknown_outcomes",
                table: "image_requests",
                type: "integer",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "attempt_in_flight",
                table: "image_requests");

            migrationBuilder.DropColumn(
                name: "unknown_outcomes",
                table: "image_requests");
        }
    }
}
