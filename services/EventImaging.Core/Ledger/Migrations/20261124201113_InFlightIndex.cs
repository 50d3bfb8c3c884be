using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace EventImaging.Core.Ledger.Migrations
{
    /// <inheritdoc />
    public partial class InFlightIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_image_requests_in_flight",
                table: "image_requests",
                column: "created_at",
                filter: "finished_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_image_requests_in_flight",
                table: "image_requests");
        }
    }
}
