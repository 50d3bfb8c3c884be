using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace EventImaging.Core.Ledger.Migrations
{
    /// <inheritdoc />
    public partial class TerminalRowsNeverDue : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Invalid commands were once stored terminal but still due; such rows filled the poller's page for good.
            migrationBuilder.Sql("UPDATE image_requests SET next_action_at = NULL WHERE finished_at IS NOT NULL AND next_action_at IS NOT NULL;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
        }
    }
}
