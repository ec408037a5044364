/** One line of the bench's table: a figure, and beside it the reference measured in the same run. */
export interface Row {
  name: string;
  value: number;
  unit: string;
  reference?: number;
  goal?: string;
  met?: boolean;
  note?: string;
}
